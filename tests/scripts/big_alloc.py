"""Asks for more memory than a Standard_D1_v2 node has (3.5 GiB)."""
try:
    block = bytearray(5 * 1024 ** 3)
    print("allocated", len(block))
except MemoryError:
    print("MemoryError: node memory cap holds")
