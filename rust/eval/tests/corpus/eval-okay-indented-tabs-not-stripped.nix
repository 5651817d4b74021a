''
	line with tab
  spaces
''
