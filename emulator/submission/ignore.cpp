// Placeholder: .amlignore / .gitignore matching (filled in by the snapshot work).
