"""One labelled set: labels from users' feedback, the unsure-answer choice, the staff queue and shadow reviews; its export."""
