"""mlsys_course: the companion package of the runnable course to *Designing Machine Learning Systems*.

Concept modules (``mlsys_course.sampling``, ``leakage``, ``imbalance``, ``evaluation``, ...) hold the
recipes a practitioner copies: each technique small, tested against a reference and documented with the
book section it follows. ``mlsys_course.comparison`` is the experiment harness every chapter's
comparisons run on. ``mlsys_course.lab`` holds code that only runs a chapter's experiment.
Importing the package itself imports nothing else, so it is cheap.
"""

__version__ = "0.1.0"
