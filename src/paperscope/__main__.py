from paperscope.serve.cli import main

main()
