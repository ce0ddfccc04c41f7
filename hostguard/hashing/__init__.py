"""Image hashing (PDQ, pHash, dHash, aHash, MD5/SHA), hash lists and matching."""
