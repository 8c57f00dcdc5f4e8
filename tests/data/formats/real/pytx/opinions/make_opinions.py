"""Runs python-threatexchange's own `tx dataset -P` printers (DatasetCommand._print_stdout/_print_csv)
on crafted metadata, to get pytx's exact output shape for categories and tags that its offline sample
exchange lacks (NEGATIVE_CLASS, POSITIVE_CLASS, DISPUTED, tags with spaces/commas/quotes/newlines).
Hashes are of benign test images only. Usage: PYTHONHASHSEED=0 python pytx_opinions.py {text|csv|text-s-pdq}"""
import csv, sys
from threatexchange.cli.dataset_cmd import DatasetCommand
from threatexchange.exchanges.fetch_state import FetchedSignalMetadata, SignalOpinion, SignalOpinionCategory as C
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.md5 import VideoMD5Signal

class Meta(FetchedSignalMetadata):
    def __init__(self, *opinions):
        self.opinions = list(opinions)
    def get_as_opinions(self):
        return self.opinions

def op(cat, *tags):
    return SignalOpinion(False, cat, list(tags))

ROWS = [
    ("Benign Test Collab", PdqSignal, "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22", Meta(op(C.POSITIVE_CLASS, "bridge"))),
    ("Benign Test Collab", PdqSignal, "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d", Meta(op(C.NEGATIVE_CLASS))),
    ("Benign Test Collab", PdqSignal, "5feb5321f01da156898e2bf629a5d3438412cdbd23f48942464526315db33ffd", Meta(op(C.POSITIVE_CLASS, "cat"), op(C.NEGATIVE_CLASS, "false positive"))),
    ("Benign Test Collab", PdqSignal, "8793786c8f9370e4af1bc0e43f1fc0e03f1cc2633da482537cac821b2cecf376", Meta(op(C.INVESTIGATION_SEED, "two\nlines", 'say "hi"', "a,b"))),
    ("Other Collab", PdqSignal, "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22", Meta(op(C.INVESTIGATION_SEED))),
    ("Bob's List", PdqSignal, "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d", Meta(op(C.POSITIVE_CLASS))),
    ("Benign Test Collab", VideoMD5Signal, "d41d8cd98f00b204e9800998ecf8427e", Meta(op(C.POSITIVE_CLASS))),
]

mode = sys.argv[1]
cmd = DatasetCommand(print_signals=True, csv=(mode == "csv"), only_signals=[PdqSignal] if mode == "text-s-pdq" else [])
if mode == "csv":
    w = csv.DictWriter(sys.stdout, ["signal_type", "signal_str", "collab", "category", "tags"])
    w.writeheader()
    for collab, st, s, m in ROWS:
        cmd._print_csv(w, collab, st, s, m)
else:
    for collab, st, s, m in ROWS:
        if mode == "text-s-pdq" and st is not PdqSignal:
            continue
        cmd._print_stdout(collab, st, s, m)
