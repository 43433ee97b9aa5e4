"""Print every registered model's KAN parameter count and its matched twin's (meta device).

    python results/matching/match_params.py > results/matching/match_params.txt
"""

import torch

import kanvision
from kanvision.models import param_count

for name in kanvision.list_models():
    target = param_count(name)
    with torch.device("meta"):
        twin = kanvision.count_params(kanvision.create_model(name, kan="none", match_params=True)).total
    print(f"{name:24s} kan={target:>12,} matched_twin={twin:>12,} gap={abs(twin - target) / target:.2%}")
