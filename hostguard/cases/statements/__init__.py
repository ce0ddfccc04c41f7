"""Statements of reasons (DSA Art. 17): text, Transparency Database form, issuing and export."""
