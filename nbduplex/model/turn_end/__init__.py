"""The turn-end detector: is the user done, or only pausing mid-turn?

data.py (labelled windows of user audio), train.py (training and scores), detector.py (what the
policy runs), store.py (its entry in the model checkpoint), train_cli.py (`nbduplex
train-turn-end`).
"""
