"""The straightforward implementations that faster code replaced, kept as the reference its tests
compare against: the fast code must give byte-identical JSON, the same stored rows and the same
observations. Not used by the bot."""
