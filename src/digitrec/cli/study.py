"""The study's steps as commands: explore, compare, sweep, reproduce."""
