"""Live harvesters: fetch papers from arXiv (OAI-PMH and the search API) and Hugging Face.

Each harvester pages through a remote source with the shared polite HTTP code (`http`), reads
every response with the matching importer, and commits each page together with its cursor
(`state`), so an interrupted harvest resumes where it stopped.
"""
