"""The leak-canary crawl (issue 12): every GET route and every email, seen from every role."""
