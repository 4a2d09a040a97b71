from rcm.cli import main

raise SystemExit(main())
