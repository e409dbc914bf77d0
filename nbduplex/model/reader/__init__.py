"""The spoken-instruction reader: hears "say go in five seconds" and hands the model its text.

- `segmenter.py`: candidate utterances from the micro-turn stream (Silero VAD);
- `network.py`: the small BiGRU classifier over the instruction grammar (scenarios/commands.py);
- `data.py` / `train.py`: its synthetic training data and training (`nbduplex train-reader`);
- `reader.py`: `InstructionReader`, what the model policy runs every micro-turn;
- `store.py`: saving it into, and loading it from, an interaction-model checkpoint.
"""
