from vtonkit.cli import main

main()
