"""Running student code: the sandbox around it and the kernel inside it."""
