from infoclr.cli import console

console()
