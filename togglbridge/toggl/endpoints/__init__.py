"""``TogglClient``'s endpoints, one module per resource of Toggl Track v9."""
