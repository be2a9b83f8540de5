"""The model lifecycle: the promotion guardrail, promoting and rolling back, and which version each serving process serves.

Deliberately empty: ``predictions.serving`` imports ``serving_processes`` (a leaf over the models)
while ``promotion`` imports the services that import ``predictions``; importing the package
must not pull either in.
"""
