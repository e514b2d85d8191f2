"""Scoring: evidence with public sources turned into a priority for human review, never a verdict.

One module per kind of evidence, imported directly (nothing is loaded here):

* the indicator lexicon (``data/lexicon.tsv`` or a unit's own file) is extraction's:
  `threadline.extract.lexicon`, matched in ad text by `threadline.extract.matcher`, whose patterns
  follow the restricted syntax of `threadline.extract.patterns`; scoring reads its weights;
* `threadline.score.movement` and `threadline.score.structure`: movement between cities and
  network structure, computed over the linked ads;
* `threadline.score.weights`: the prior weights of structure, movement and ads' own signs
  (``data/score_weights.tsv`` or a unit's own file), checked on load like the lexicon;
* `threadline.score.scorer`: every ad's and network's score and the parts that make it up;
* `threadline.score.learn`: analysts' labels, and weights fitted on them (used only when they
  rank the labelled networks better than the priors).
"""
