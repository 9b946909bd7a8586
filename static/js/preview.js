// Filled in by the preview work of the interface issue.
