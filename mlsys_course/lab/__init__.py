"""The chapters' experiment drivers: code that exists to run a notebook's experiment, not to be copied.

A concept module (``mlsys_course.leakage``, ``mlsys_course.imbalance``, ...) holds recipes: the technique a
practitioner copies into a project, small and tested. This package holds what only a chapter needs: data
set-ups, loops over settings, tables and plots of a lesson, one module per chapter (``lab.ch03`` for
chapter 3, ``lab.ch05`` for chapter 5, ...). Lab code may import recipes; recipes never import lab code.
"""
