from toyguide.cli import app

app(prog_name="toyguide")
