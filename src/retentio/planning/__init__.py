"""Planning tools from the guides: the budget advisor and the communication calendar."""
