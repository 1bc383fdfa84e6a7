"""A script that fails the way a user bug does."""
print("starting training", flush=True)
raise ValueError("bad learning rate")
