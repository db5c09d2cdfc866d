"""``python -m bot`` is the ``exchbot`` command."""

from bot.entry import run

if __name__ == "__main__":
    run()
