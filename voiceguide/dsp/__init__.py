"""Signal processing for levels: loudness (BS.1770), dynamics (limiter, peak taming)."""
