"""The cue spotter: which CueSpeak cue word ("banana", "rocket", ...) has the user just said?

data.py (labelled windows of user audio), train.py (training and scores), spotter.py (what the
policy runs), train_cli.py (`nbduplex train-cue`). It is stored in the model checkpoint under
"cue" (window_classifier.save_entry).
"""
