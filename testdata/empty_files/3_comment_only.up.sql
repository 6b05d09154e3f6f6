
   
-- Nothing to do in this version: kept for numbering.
	

