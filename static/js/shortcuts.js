// Filled in by the shortcuts work of the interface issue.
