"""``python -m bot`` is the ``exchbot`` command."""

from bot.cli.entry import run

if __name__ == "__main__":
    run()
