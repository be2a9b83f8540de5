"""Shadow mode: the challenger answers each stored photo after the response, beside the champion's answer."""
