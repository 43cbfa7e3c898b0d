"""Human review of a validated dataset: the local app, the static report, the decision store."""
