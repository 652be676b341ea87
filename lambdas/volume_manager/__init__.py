"""Volume manager: EBS lifecycle of each graph database's volume, mirrored in the volume registry."""
