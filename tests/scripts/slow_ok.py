"""A script that takes a little while, to show a run outliving its submitter."""
import os
import time

time.sleep(1.5)
os.makedirs("outputs", exist_ok=True)
with open("outputs/done.txt", "w") as f:
    f.write("done\n")
print("slow script finished")
