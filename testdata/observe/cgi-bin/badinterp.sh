#!/nonexistent/interpreter
# Cannot be executed: its interpreter does not exist.
