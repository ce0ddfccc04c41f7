"""Hash exchanges: NCMEC, StopNCII, ThreatExchange, Tech Against Terrorism and file sources."""
