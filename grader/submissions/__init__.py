"""Submissions: finding the students of a class, naming them, staging their files, reading their forms.

The flow starts here: ``classes.find_submissions`` lists who is graded (and who is not, and why),
``names`` gives each a unique, safe name, ``staging.stage`` makes the one private copy the runner
ever sees, and ``forms``, ``notebooks`` and ``answers`` read what that copy holds.
"""
