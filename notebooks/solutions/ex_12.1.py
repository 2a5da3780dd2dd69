by_hand = lab.run("../capstone/solution/by_hand")  # the lab's solution: read its three programs
check_checkpoint(by_hand)
