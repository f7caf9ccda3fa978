"""Client systems under test that the test suite builds to prove verdicts: each is broken on purpose."""
