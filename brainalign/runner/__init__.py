"""Runner: expands a sweep into pure, idempotent jobs and executes them."""
