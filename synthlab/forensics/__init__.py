"""ForgeryNet-style forgery analysis: schema, forgery pipeline, perturbations, detectors, localizers, video models, evaluation, saliency."""
