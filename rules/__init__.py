"""Rules (filters): the user's ordered list, applied to polled mail as it is stored.

mailcore.rules holds the model, evaluation, forward guards and Sieve; this app keeps
each user's rules in the database (:mod:`.models`), applies them on arrival
(:mod:`.filtering`, registered with mailbox.arrival), runs one on existing mail
(:mod:`.existing`), and offers the settings pages (:mod:`.views`).
"""
