"""Hard rules and scores that turn constraints into picks with reasons; comparisons."""
