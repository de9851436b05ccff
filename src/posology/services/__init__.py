"""What a clinic does with its stored records, one module per resource, over ``store``.

Services run the transactions and turn records into the engine's values; the routes of the
API and the pages stay thin over them.
"""
