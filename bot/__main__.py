"""``python -m bot`` is the ``exchbot`` command."""

from bot.cli import main

if __name__ == "__main__":
    main()
