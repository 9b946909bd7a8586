// Filled in by the newmail work of the interface issue.
