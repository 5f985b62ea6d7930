"""Reports: report.json (the contract), report.md (the analyst summary)."""
