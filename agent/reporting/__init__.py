"""Research reports: plan, review, parallel research branches, write, verify."""
