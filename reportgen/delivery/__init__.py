"""Scheduled delivery: what is due, the ledger, the email, the run."""
