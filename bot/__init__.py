"""exchbot: is this Exchange server end-of-life or open to a known exploit?"""

__version__ = "0.1.0"
