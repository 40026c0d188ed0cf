"""Where the data lives: the engine, the canonical mapping and portable SQL."""
